// The loopback DNS server lives in its own target so that the benchmark can run it too.
@_exported import LoopbackDNS
