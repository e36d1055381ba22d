"""Where limit state lives: the async store seam, memory and Redis stores, and the guard."""
