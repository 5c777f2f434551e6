"""The engine: quota rebalancing and resource synchronization."""
