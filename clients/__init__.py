"""Vendor adapters: the only code that knows HTTP or GraphQL. Errors are mapped to `clients.errors`."""
