package checks

// Catalog is the set of loaded standards and their items.
type Catalog struct {
	Standards []*Standard
	items     map[uint64]*Item
}

// Item returns the item with the given CustomerPolicyItemId.
func (c *Catalog) Item(id uint64) (*Item, bool) {
	it, ok := c.items[id]
	return it, ok
}

// Standard returns the standard with the given id.
func (c *Catalog) Standard(id string) (*Standard, bool) {
	for _, s := range c.Standards {
		if s.ID == id {
			return s, true
		}
	}
	return nil, false
}

// Items returns every item of every standard, in load order.
func (c *Catalog) Items() []*Item {
	var out []*Item
	for _, s := range c.Standards {
		out = append(out, s.Items...)
	}
	return out
}
