"""Wire-format codecs: AWS event streams, server-sent events, CBOR."""
