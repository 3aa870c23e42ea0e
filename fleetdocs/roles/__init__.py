"""The three roles' operations; importing this package registers all of them."""
