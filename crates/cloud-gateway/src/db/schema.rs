//! The diesel schema of `migrations-cloud/` (timestamps are unix milliseconds).

diesel::table! {
    suite_tickets (suite_key) {
        suite_key -> Text,
        ticket -> Text,
        corp_id -> Nullable<Text>,
        updated_at -> BigInt,
        source_ts -> BigInt,
    }
}

diesel::table! {
    corp_authorizations (corp_id) {
        corp_id -> Text,
        corp_name -> Text,
        agent_id -> Nullable<BigInt>,
        status -> Text,
        permanent_code -> Nullable<Text>,
        ch_permanent_code -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    events (dedup_key) {
        dedup_key -> Text,
        event_type -> Text,
        received_at -> BigInt,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Text,
        edge_id -> Text,
        user_json -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        taken_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    idempotency_records (edge_id, idem_key) {
        edge_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    send_batches (edge_id, idem_key, request_hash, batch_index) {
        edge_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        batch_index -> Integer,
        task_id -> BigInt,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    suite_tickets,
    corp_authorizations,
    events,
    auth_codes,
    idempotency_records,
    send_batches,
);
