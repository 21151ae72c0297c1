package dashboard

// Figures is what the charts and the operator view need from the store.
type Figures interface{}
