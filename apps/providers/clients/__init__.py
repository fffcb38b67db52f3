"""Provider clients: `client_for(account)` answers the ProviderClient for a ProviderAccount."""

from apps.providers.clients.registry import CLIENTS, client_for

__all__ = ["CLIENTS", "client_for"]
