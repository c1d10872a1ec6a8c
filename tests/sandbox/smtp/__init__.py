"""SMTP submission emulator (smtp.office365.com:587): STARTTLS, then AUTH XOAUTH2 with an Exchange token."""
