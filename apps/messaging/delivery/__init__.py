"""Delivery status: the one service that applies it (services), receipts that arrive before their
message (receipts), the pull sync's grouping (pull), the providers' callbacks (webhooks), jobs."""
