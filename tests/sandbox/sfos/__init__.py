"""SFOS XML API emulator: a fleet of firewalls, one HTTPS port each, served from one process."""
