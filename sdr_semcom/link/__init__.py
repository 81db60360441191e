"""Link layer: transmitter and receiver ends, in-process loopback, multi-process roles."""
