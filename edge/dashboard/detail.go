package dashboard

// OrderDetail is what the order page needs from the store.
type OrderDetail interface{}

// Actions changes orders the way the merchant API does, with the same rules.
type Actions interface{}
