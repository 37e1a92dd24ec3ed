"""MIA Arena: the competition app. Kept free of Django imports so benchmark.zoo imports cleanly."""
