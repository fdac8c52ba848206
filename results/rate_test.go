package results

import (
	"testing"

	"github.com/baselinehq/baseline/assets"
)

func TestRateCountsAssetsOrItemsByType(t *testing.T) {
	c := Tally{PassedAssets: 1, Assets: 4, PassedItems: 9, FailedItems: 1}
	cases := []struct {
		typ      assets.Type
		fraction float64
		percent  float64
	}{
		{assets.Host, 0.25, 25},
		{assets.Container, 0.25, 25},
		{assets.Image, 0.25, 25},
		{assets.K8s, 0.9, 90},
	}
	for _, tc := range cases {
		if got := Fraction(tc.typ, c); got != tc.fraction {
			t.Errorf("Fraction(%s) = %v, want %v", tc.typ, got, tc.fraction)
		}
		if got := Percent(tc.typ, c); got != tc.percent {
			t.Errorf("Percent(%s) = %v, want %v", tc.typ, got, tc.percent)
		}
	}
}

func TestRateOfNothingIsZero(t *testing.T) {
	for _, typ := range assets.Types {
		if f, p := Fraction(typ, Tally{}), Percent(typ, Tally{}); f != 0 || p != 0 {
			t.Errorf("%s: empty tally gave %v / %v, want 0", typ, f, p)
		}
	}
}

func TestPercentRoundsToTwoDecimals(t *testing.T) {
	if got := PercentOf(2, 3); got != 66.67 {
		t.Errorf("PercentOf(2, 3) = %v, want 66.67", got)
	}
}
