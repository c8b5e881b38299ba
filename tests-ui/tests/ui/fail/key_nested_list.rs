use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(nested)]
struct Actor {
    ids: Vec<u64>,
    name: String,
}

#[derive(Hollow)]
#[hollow(primary_key(actor.ids))]
struct Role {
    actor: Actor,
    character: String,
}

fn main() {}
