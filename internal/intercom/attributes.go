package intercom

import (
	"context"
	"net/url"
)

// DataAttribute is one of Intercom's data attributes.
type DataAttribute struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	Model    string `json:"model"`
	DataType string `json:"data_type"`
	Custom   bool   `json:"custom"`
}

// ListDataAttributes is GET /data_attributes?model=contact|company.
func (c *Client) ListDataAttributes(ctx context.Context, model string) ([]DataAttribute, error) {
	var out struct {
		Data []DataAttribute `json:"data"`
	}
	if err := c.do(ctx, "GET", "/data_attributes", "/data_attributes?model="+url.QueryEscape(model), nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// CreateDataAttribute is POST /data_attributes.
func (c *Client) CreateDataAttribute(ctx context.Context, a DataAttribute, description string) error {
	return c.do(ctx, "POST", "/data_attributes", "/data_attributes", Fields{
		"name": a.Name, "model": a.Model, "data_type": a.DataType, "description": description,
	}, nil)
}
