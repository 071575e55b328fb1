"""homeport's MCP server: the front door for AI agents (read the lab, get advice, propose changes)."""
