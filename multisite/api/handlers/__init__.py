"""Request handlers: context, policy, validation, objects call, serialization."""
