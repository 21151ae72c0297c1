package dashboard

// Settings is what the settings pages need from the store.
type Settings interface{}
