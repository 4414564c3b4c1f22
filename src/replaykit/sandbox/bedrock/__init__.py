"""Bedrock Runtime emulation: models (behaviour), native (InvokeModel formats), responses (wire), urls."""
