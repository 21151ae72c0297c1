package dashboard

// OrderList is what the order list needs from the store.
type OrderList interface{}
