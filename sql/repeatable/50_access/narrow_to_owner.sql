-- reports._narrow_to_owner(): a report's p_owner_id, checked against the caller's scope.

CREATE OR REPLACE FUNCTION reports._narrow_to_owner(p_report text, p_owner_ids bigint[], p_owner_id bigint)
RETURNS bigint[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
BEGIN
    IF p_owner_id IS NULL THEN
        RETURN p_owner_ids;
    END IF;
    IF p_owner_ids IS NOT NULL AND NOT p_owner_id = ANY(p_owner_ids) THEN
        RAISE EXCEPTION 'permission denied for report %: p_owner_id % is outside the caller''s scope',
            p_report, p_owner_id
            USING ERRCODE = 'insufficient_privilege',
                HINT = 'Omit p_owner_id, or pass the id of an owner inside your scope (yourself for scope own).';
    END IF;
    RETURN ARRAY[p_owner_id];
END
$$;

COMMENT ON FUNCTION reports._narrow_to_owner(text, bigint[], bigint) IS
'The visible owner ids narrowed to p_owner_id (internal, never granted): p_owner_ids (null = all) when
p_owner_id is null, else {p_owner_id}; 42501 naming p_report when p_owner_id is outside p_owner_ids.';
