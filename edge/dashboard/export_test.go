package dashboard

// Text is the strings table, for the completeness test.
var Text = text
