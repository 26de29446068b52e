"""WhatsApp payments for orders: Kaleyra's payment updates parsed (parsing), recorded and acted
on (services), and read back (selectors: an order's payment status, the checkout hold)."""
