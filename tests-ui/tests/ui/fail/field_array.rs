use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Packet {
    id: u64,
    header: [u8; 4],
}

fn main() {}
