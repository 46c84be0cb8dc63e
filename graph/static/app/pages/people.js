// People: enrolled customers and whether a face is stored for them (with its consent), enrolling a customer
// from a photo under their consent, and erasing a customer's faces (rows, vectors, images; the customer
// record stays). Enrolling and erasing are org-admin actions; analysts see the list.
import { ApiError, canWrite, gql, nodes } from "../api.js";
import { dateTime, esc, label, render, toast } from "../ui.js";

const MAX_PHOTO_BYTES = 8 * 1024 * 1024;

export function mount(root, ctx) {
  const writer = canWrite();
  const refs = render(root, `<h2>Enrolled customers</h2>
    <div class="card scroll" data-ref="list"><div class="empty">Loading...</div></div>
    <form class="card" style="margin-top:12px" data-ref="enrol" ${writer ? "" : "hidden"}>
      <h3>Enrol a customer from a photo</h3>
      <p class="muted">A face is stored only with the customer's consent; it lets the cameras recognise them
        (for their offers on the store displays). Erase removes it for good.</p>
      <div class="row">
        <label>Name <input name="name" required maxlength="200" autocomplete="off"></label>
        <label>Email <input name="email" type="email" maxlength="200" autocomplete="off"></label>
        <label>Photo (one face, JPEG or PNG) <input name="photo" type="file" accept="image/jpeg,image/png" required></label>
      </div>
      <div class="row" style="margin-top:8px">
        <label>Consent given by <input name="givenBy" maxlength="200" placeholder="the customer's name" autocomplete="off"></label>
        <label>How <select name="method"><option value="kiosk">kiosk</option><option value="in_person">in person</option>
          <option value="online">online</option><option value="paper">paper form</option></select></label>
        <label style="align-self:center"><input type="checkbox" name="consent" required> The customer agreed to have their face stored</label>
      </div>
      <div class="error" data-ref="error"></div>
      <button class="primary" type="submit">Enrol</button>
    </form>`);

  async function load() {
    try {
      const customers = nodes((await gql(`{ customers(first: 100) { edges { node { id name email loyaltyStatus createdAt } } } }`)).customers);
      if (!customers.length) { refs.list.innerHTML = `<div class="empty">No customers yet.${writer ? " Enrol one below." : ""}</div>`; return; }
      // One request for every customer's face (aliases), not one per row.
      const faces = await gql(`{ ${customers.map((c, i) => `f${i}: customerFace(customerId: ${JSON.stringify(c.id)}) { faceCount enrolledAt }`).join(" ")} }`);
      refs.list.innerHTML = `<table><tr><th>Customer</th><th>Loyalty</th><th>Face</th><th></th></tr>${customers.map((c, i) => {
        const face = faces["f" + i];
        return `<tr data-customer="${esc(c.id)}"><td><b>${esc(c.name)}</b><div class="muted">${esc(c.email || "")}</div></td>
          <td>${esc(label(c.loyaltyStatus) || "-")}</td>
          <td class="face">${face && face.faceCount ? `enrolled ${esc(dateTime(face.enrolledAt))}` : "none"}</td>
          <td>${writer && face && face.faceCount ? `<button type="button" class="danger" data-erase="${esc(c.id)}">Erase face</button>` : ""}</td></tr>`;
      }).join("")}</table>`;
    } catch (e) { ctx.fail(e); }
  }

  refs.list.addEventListener("click", async (ev) => {
    const id = ev.target.dataset.erase;
    if (!id || !confirm("Erase this customer's faces, images and identity links? This cannot be undone.")) return;
    try {
      const r = (await gql(`mutation($id: ID!) { eraseCustomerFaces(customerId: $id) { faceVectors images } }`, { id })).eraseCustomerFaces;
      toast(`Erased ${r.faceVectors} face vector(s) and ${r.images} image(s)`);
      load();
    } catch (e) { ctx.fail(e); }
  });

  refs.enrol.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    refs.error.textContent = "";
    const f = refs.enrol.elements;
    const file = f.photo.files[0];
    if (!file || file.size > MAX_PHOTO_BYTES) { refs.error.textContent = "Choose a photo under 8 MB"; return; }
    const image = await new Promise((done, failed) => {
      const reader = new FileReader();
      reader.onload = () => done(reader.result);
      reader.onerror = () => failed(reader.error);
      reader.readAsDataURL(file);
    });
    try {
      await gql(`mutation($input: RegisterInput!) { register(input: $input) { customerId } }`, { input: {
        name: f.name.value.trim(), email: f.email.value.trim(), imageBase64: image,
        consent: { givenBy: f.givenBy.value.trim() || f.name.value.trim(), method: f.method.value, purpose: "recognition for offers" } } });
      refs.enrol.reset();
      toast("Enrolled");
      load();
    } catch (e) {
      refs.error.textContent = e instanceof ApiError ? e.message : "";
      ctx.fail(e);
    }
  });
  load();
}
