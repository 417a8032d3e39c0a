"""snnrs."""
