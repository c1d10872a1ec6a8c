"""Local HTTPS emulators of Entra/Graph/Exchange, the SFOS XML API and Exchange SMTP, with a test CA."""
