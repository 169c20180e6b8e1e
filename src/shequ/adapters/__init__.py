"""Implementations of the ports: storage, clock, and later payments, couriers, …"""
