"""Data gateway: wallet sign-in, onboarding, owner/doctor reads, paid buyer delivery, consent relay."""
