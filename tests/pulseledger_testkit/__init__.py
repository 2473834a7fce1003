"""Real local servers shared by the test suites (each started on 127.0.0.1 on a free port)."""
