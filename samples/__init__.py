"""Sample outlets and notification stand-ins on loopback: `make demo`, and the tests' world."""
