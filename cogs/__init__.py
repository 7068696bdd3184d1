"""Discord surface: one cog per user-facing area. Thin: parse, check, call a service, reply."""
