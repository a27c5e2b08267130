-- The advisory lock that allows one refresh at a time per database.

CREATE OR REPLACE FUNCTION reports._refresh_lock_key()
RETURNS bigint
LANGUAGE sql
IMMUTABLE
SET search_path = reports, pg_temp
AS $$
    -- int.from_bytes(b"refresh", "big"): the ASCII bytes of 'refresh' read as a big-endian integer
    -- (the migration runner's key is the bytes of 'reports').
    SELECT 32199638025335656::bigint
$$;

COMMENT ON FUNCTION reports._refresh_lock_key() IS
'Key of the transaction-level advisory lock held by every refresh (and by reports.set_timezone): the ASCII
bytes of ''refresh'' read as a big-endian integer, 32199638025335656. One refresh at a time per database.';
