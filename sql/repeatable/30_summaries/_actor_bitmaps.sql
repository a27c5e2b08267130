-- Sets of actors as bitmaps: actor id a is bit (a & 4095), counted from the left from 0, of the
-- bitmap of block (a >> 12). The OR of bitmaps (bit_or) is the union of their sets, bit_count its
-- size; the distinct actors of a set of rows = sum over blocks of bit_count(bit_or(actors)).
-- Any bigint id works (>> and & are two's-complement: block -1 holds ids -4096..-1); sparse ids only
-- cost more blocks. Both functions are inlined where they are used (SQL, IMMUTABLE, no SET clause).

CREATE OR REPLACE FUNCTION reports._actor_block(p_actor_id bigint)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT p_actor_id >> 12
$$;

COMMENT ON FUNCTION reports._actor_block(bigint) IS
'The bitmap block of actor id p_actor_id, 4096 ids per block: p_actor_id >> 12 (internal, inlined)';

CREATE OR REPLACE FUNCTION reports._actor_bit(p_actor_id bigint)
RETURNS bit(4096)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT B'1'::bit(4096) >> (p_actor_id & 4095)::integer
$$;

COMMENT ON FUNCTION reports._actor_bit(bigint) IS
'The bitmap of block reports._actor_block(p_actor_id) with only the bit of p_actor_id set: bit
(p_actor_id & 4095), counted from the left from 0 (internal, inlined)';
