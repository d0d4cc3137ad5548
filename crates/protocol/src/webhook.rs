//! Group webhooks: payload parsing and signature checks (being written).
