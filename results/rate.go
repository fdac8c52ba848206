package results

import (
	"math"

	"github.com/baselinehq/baseline/assets"
)

// Tally is what a type's headline rate is computed from.
type Tally struct {
	// PassedAssets and Assets count compliant assets and all assets,
	// scan-failed ones included.
	PassedAssets, Assets int
	// PassedItems and FailedItems count the items judged on the type.
	PassedItems, FailedItems int
}

// Rate gives a type's headline pass rate as passed over total: compliant
// assets over all assets (scan-failed ones counted) for hosts, containers
// and images; passed items over judged items for Kubernetes. A zero total
// means nothing was counted.
func Rate(t assets.Type, c Tally) (passed, total int) {
	if t == assets.K8s {
		return c.PassedItems, c.PassedItems + c.FailedItems
	}
	return c.PassedAssets, c.Assets
}

// Fraction is the rate from 0 to 1 (0 when nothing was counted).
func Fraction(t assets.Type, c Tally) float64 {
	passed, total := Rate(t, c)
	if total == 0 {
		return 0
	}
	return float64(passed) / float64(total)
}

// Percent is the rate from 0 to 100 with two decimals, as the API and the
// exports give it (0 when nothing was counted).
func Percent(t assets.Type, c Tally) float64 {
	passed, total := Rate(t, c)
	return PercentOf(passed, total)
}

// PercentOf is passed over total from 0 to 100 with two decimals (0 when
// total is 0).
func PercentOf(passed, total int) float64 {
	if total == 0 {
		return 0
	}
	return math.Round(10000*float64(passed)/float64(total)) / 100
}
