package chat

import (
	"slices"
	"testing"
)

func TestHistoryQueryPage(t *testing.T) {
	// seqs returns messages with these seqs, in this order.
	seqs := func(ss ...int64) []Message {
		ms := make([]Message, len(ss))
		for i, s := range ss {
			ms[i] = Message{Seq: s}
		}
		return ms
	}
	tests := []struct {
		name string
		q    HistoryQuery
		rows []Message
		page []int64
		more bool
	}{
		{"newest, more exist", HistoryQuery{Limit: 3}, seqs(9, 8, 7, 6), []int64{7, 8, 9}, true},
		{"newest, all of them", HistoryQuery{Limit: 3}, seqs(3, 2, 1), []int64{1, 2, 3}, false},
		{"newest, fewer", HistoryQuery{Limit: 3}, seqs(2, 1), []int64{1, 2}, false},
		{"before, more exist", HistoryQuery{BeforeSeq: 9, Limit: 2}, seqs(8, 7, 6), []int64{7, 8}, true},
		{"after, more exist", HistoryQuery{AfterSeq: 4, After: true, Limit: 2}, seqs(5, 6, 7), []int64{5, 6}, true},
		{"after 0, the first page", HistoryQuery{After: true, Limit: 3}, seqs(1, 2, 3), []int64{1, 2, 3}, false},
		{"empty room", HistoryQuery{Limit: 50}, nil, []int64{}, false},
		{"empty after", HistoryQuery{After: true, Limit: 50}, seqs(), []int64{}, false},
	}
	for _, tt := range tests {
		page, more := tt.q.Page(tt.rows)
		got := []int64{}
		for _, m := range page {
			got = append(got, m.Seq)
		}
		if !slices.Equal(got, tt.page) || more != tt.more {
			t.Errorf("%s: Page = %v, %v; want %v, %v", tt.name, got, more, tt.page, tt.more)
		}
	}
}
