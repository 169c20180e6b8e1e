"""Every error shequ raises on purpose: ``from shequ.errors import ShequError, NotFound, …``.

See :mod:`shequ.domain.errors` for the tree and ``docs/errors.md`` for every code.
"""

from shequ.domain.errors import *  # noqa: F403
from shequ.domain.errors import __all__ as __all__
