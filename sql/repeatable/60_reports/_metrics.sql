-- Rounding of derived measures, shared by every report: ratios, means and percentages are
-- null when their denominator is 0 and rounded half away from zero (numeric round()).

CREATE OR REPLACE FUNCTION reports._safe_ratio(p_numerator numeric, p_denominator numeric, p_scale integer)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = reports, pg_temp
AS $$
    SELECT round(p_numerator / nullif(p_denominator, 0), p_scale)
$$;

COMMENT ON FUNCTION reports._safe_ratio(numeric, numeric, integer) IS
'p_numerator / p_denominator rounded half-up to p_scale decimals; null when the denominator is 0 or null (internal).
Used with scale 2 for amounts, means and day counts, 4 for ratios.';

CREATE OR REPLACE FUNCTION reports._percent(p_part numeric, p_whole numeric)
RETURNS numeric
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = reports, pg_temp
AS $$
    SELECT round(100 * p_part / nullif(p_whole, 0), 2)
$$;

COMMENT ON FUNCTION reports._percent(numeric, numeric) IS
'100 * p_part / p_whole rounded half-up to 2 decimals; null when p_whole is 0 or null (internal).';
