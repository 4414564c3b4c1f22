"""Wire-format codecs: AWS event streams, server-sent events, CBOR, compression layers, text charsets, checksums."""
