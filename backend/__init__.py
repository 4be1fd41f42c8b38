"""storepulse back end: Lambda handlers, the domain they share, and the local stack."""
