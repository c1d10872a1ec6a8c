"""The emulated Microsoft cloud: identity platform (login), Microsoft Graph v1.0 and the Exchange Online admin API."""
