"""OpenAI API emulation: ``models`` (behaviour), ``responses`` (wire format), ``urls`` (routing)."""
