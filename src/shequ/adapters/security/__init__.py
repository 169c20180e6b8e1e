"""Security adapters: password hashing (argon2id) and encryption of personal data (AES-GCM)."""

from shequ.adapters.security.cipher import FieldCipher, Keyring
from shequ.adapters.security.passwords import Argon2PasswordHasher

__all__ = ["Argon2PasswordHasher", "FieldCipher", "Keyring"]
