-- Report top_clients: clients ranked by the amount won from them in a range.

CREATE OR REPLACE FUNCTION reports.top_clients(p_from date, p_to date, p_limit integer DEFAULT 10)
RETURNS TABLE (
    rank bigint,
    client_id bigint,
    client_name text,
    won_deals bigint,
    won_amount numeric,
    paid_amount numeric,
    last_won_at timestamptz
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = reports, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_owner_ids bigint[];
BEGIN
    SELECT a.owner_ids INTO v_owner_ids FROM reports._authorize('top_clients') AS a;
    PERFORM reports._check_range(p_from, p_to);
    PERFORM reports._check_limit(p_limit);
    -- The clients are ranked by won_amount descending, then client_id. Only the first p_limit rows of
    -- the clients with a won deal can be in the answer, and the clients paid in the range without a won
    -- deal (won_amount 0) only when fewer than p_limit of those have a positive won_amount (the gate).
    -- So the ranking is done over those candidates. The dense rank of a row depends only on the rows
    -- before it in that order, which are all kept. Payments are read once: every client's when the gate
    -- is open, else those of the rows kept only (by the client's index).
    RETURN QUERY
    WITH
    won AS MATERIALIZED (
        SELECT
            o.client_id,
            sum(o.won_deals) AS won_deals,
            sum(o.won_amount) AS won_amount,
            max(o.last_won_at) AS last_won_at
        FROM reports._scoped_deal_outcomes(v_owner_ids, p_from, p_to) AS o
        WHERE o.won_deals > 0
        GROUP BY o.client_id
    ),

    top_won AS MATERIALIZED (
        SELECT w.client_id, w.won_deals, w.won_amount, w.last_won_at
        FROM won AS w
        ORDER BY w.won_amount DESC, w.client_id
        LIMIT p_limit
    ),

    gate AS (
        SELECT count(*) FILTER (WHERE t.won_amount > 0) < p_limit AS is_open FROM top_won AS t
    ),

    paid_by_client AS MATERIALIZED (
        SELECT
            c.client_id,
            sum(c.paid_amount) AS paid_amount
        FROM reports._scoped_payments_collected(v_owner_ids, p_from, p_to) AS c
        WHERE (SELECT g.is_open FROM gate AS g)
        GROUP BY c.client_id
    ),

    paid_only AS (
        SELECT
            p.client_id,
            0::numeric AS won_deals,
            0::numeric AS won_amount,
            NULL::timestamptz AS last_won_at
        FROM paid_by_client AS p
        WHERE NOT EXISTS (SELECT FROM won AS w WHERE w.client_id = p.client_id)
        ORDER BY p.client_id
        LIMIT p_limit
    ),

    ranked AS MATERIALIZED (
        SELECT
            dense_rank() OVER (ORDER BY k.won_amount DESC) AS client_rank,
            k.*
        FROM (
            SELECT t.* FROM top_won AS t
            UNION ALL
            SELECT p.* FROM paid_only AS p
            ORDER BY won_amount DESC, client_id
            LIMIT p_limit
        ) AS k
    ),

    paid AS (
        SELECT p.client_id, p.paid_amount FROM paid_by_client AS p
        UNION ALL
        SELECT
            c.client_id,
            sum(c.paid_amount)
        FROM reports._scoped_payments_collected(v_owner_ids, p_from, p_to) AS c
        WHERE
            NOT (SELECT g.is_open FROM gate AS g)
            AND c.client_id = any(ARRAY(SELECT r.client_id FROM ranked AS r))
        GROUP BY c.client_id
    )

    SELECT
        r.client_rank,
        r.client_id,
        s.name,
        r.won_deals::bigint,
        round(r.won_amount, 2),
        round(coalesce(p.paid_amount, 0), 2),
        r.last_won_at
    FROM ranked AS r
    LEFT JOIN paid AS p ON p.client_id = r.client_id
    LEFT JOIN reports.src_clients AS s ON s.id = r.client_id
    ORDER BY r.won_amount DESC, r.client_id;
END
$$;

COMMENT ON FUNCTION reports.top_clients(date, date, integer) IS
'Clients ranked by the amount won from them in a range, with what they paid in it.
One row per client with a deal won or a payment paid in p_from..p_to (both included; local days in the reports time
zone), ordered by won_amount descending, then client_id; the first p_limit rows (default 10). Deleted clients and
deals are left out. Scope: won deals whose owner the caller sees and payments whose owner the caller sees (its
deal''s owner, else its client''s), so a client appears with the caller''s part only.
22023 for a null, infinite or reversed range or p_limit < 1.
- rank: dense rank by won_amount descending (equal won_amount share a rank; no gaps).
- client_id, client_name: the client (crm.clients id and name, read live).
- won_deals: deals of the client won (status won, closed_at local day) in the range.
- won_amount: their summed amount, rounded half-up to 2 decimals (0 when none).
- paid_amount: summed amount of the client''s payments whose paid_at local day is in the range, rounded to 2.
- last_won_at: latest closed_at of those won deals (timestamptz); null when none.';
