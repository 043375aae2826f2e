"""列管計畫's monthly monitoring: controlled plans, their import, the monthly progress reports, the monthly tally
and analysis, the board and its exports. The models are plan_control.models.monitoring (one app label)."""
