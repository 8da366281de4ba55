// Include fragment (`// #include attention_key_tiles`, after attention_head): the K and V tiles that
// attention_forward.wgsl and attention_backward_dq.wgsl walk over, TILE keys at a time in workgroup memory; every
// thread then reads the same element at the same time (a broadcast).

var<workgroup> kTile: array<vec4<f32>, TILE * HD4>;
var<workgroup> vTile: array<vec4<f32>, TILE * HD4>;

// Loads keys key0 .. key0 + TILE − 1 of the head into the tiles (zeros past T), the workgroup's threads sharing
// the work, between barriers: the previous tile is no longer read, and the new one is whole when this returns.
fn stageKeyTile(hb: HeadBlock, lid: u32, key0: u32) {
  workgroupBarrier();
  for (var i = lid; i < TILE * HD4; i += ROWS) {
    let key = key0 + i / HD4;
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (key < hb.T) {
      let base = qkvBase(hb, key);
      kv = loadQkv4(base + hb.k_off, i % HD4);
      vv = loadQkv4(base + hb.v_off, i % HD4);
    }
    kTile[i] = kv;
    vTile[i] = vv;
  }
  workgroupBarrier();
}

// The key tiles the queries of workgroup wg (wg.y = b·nHead + h) see, [first, end): up to the one holding its last row
// (the causal mask skips the rest whole), from the one holding the first key its first row sees (with a window, or
// packed sequences: firstKey never decreases from row to row).
fn keyTiles(wg: vec3<u32>) -> vec2<u32> {
  let firstRow = wg.x * ROWS;
  let lastRow = min(firstRow + ROWS, params.T) - 1u;
  let first = firstKey((wg.y / params.nHead) * params.T, firstRow) / TILE;
  return vec2(first, lastRow / TILE + 1u);
}
