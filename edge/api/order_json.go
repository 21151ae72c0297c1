package api

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
)

// MarshalOrder encodes the order object exactly as GET /v1/orders/{id} answers it. `edge
// export` writes its NDJSON lines with it, so an archived line and the API's answer are the
// same bytes.
func MarshalOrder(o *checkout.Order) ([]byte, error) { return json.Marshal(o) }

// writeOrder answers with the order object.
func writeOrder(ctx *fasthttp.RequestCtx, status int, o *checkout.Order) error {
	b, err := MarshalOrder(o)
	if err != nil {
		return err
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(b)
	return nil
}
