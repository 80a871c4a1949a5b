//! The diesel schema of `migrations-local/`.

diesel::table! {
    dingtalk_users (id) {
        id -> Int8,
        corp_id -> Text,
        user_id -> Text,
        union_id -> Text,
        open_id -> Text,
        nick -> Text,
        email -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        mobile -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    bindings (tenant_id, staff_id) {
        tenant_id -> Text,
        staff_id -> Text,
        corp_id -> Text,
        user_id -> Text,
        bound_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        message_id -> Uuid,
        kind -> Text,
        corp_id -> Text,
        payload -> Jsonb,
        request_id -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        task_ids -> Array<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, key) {
        tenant_id -> Text,
        key -> Text,
        message_id -> Uuid,
        request_hash -> Text,
        missing_staff_ids -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(dingtalk_users, bindings, outbox, idempotency_keys);
